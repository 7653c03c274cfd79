text "hook" {
  count  = -1 # ERROR: Invalid count argument
  prompt = "p"
}
