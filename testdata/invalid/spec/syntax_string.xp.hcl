text "a" {
  prompt = "unterminated # ERROR: Unterminated template string
}
