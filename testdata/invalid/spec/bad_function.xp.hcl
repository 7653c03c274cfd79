text "a" {
  prompt = uppr("x") # ERROR: Call to unknown function
}
