text "hook" {
  for_each = toset(["a", null]) # ERROR: Invalid for_each argument
  prompt   = "p"
}
