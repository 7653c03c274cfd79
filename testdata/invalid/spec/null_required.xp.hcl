text "a" {
  prompt = null # ERROR: Missing required argument
}
