text "hook" {
  model  = "openai/gpt-5o" # ERROR: Unknown model
  prompt = "Write a hook"
}
