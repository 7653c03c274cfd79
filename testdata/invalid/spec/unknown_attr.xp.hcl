text "a" {
  prompt = "hi"
  promtp = "typo" # ERROR: Unsupported argument
}
