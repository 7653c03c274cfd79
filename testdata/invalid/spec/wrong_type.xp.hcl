text "a" {
  prompt     = "hi"
  max_tokens = "many" # ERROR: Incorrect attribute value type
}
