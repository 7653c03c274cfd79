text "hook" {
  count  = 1e12 # ERROR: Invalid count argument
  prompt = "p"
}
