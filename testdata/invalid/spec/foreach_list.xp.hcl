text "hook" {
  for_each = ["a", "b"] # ERROR: Invalid for_each argument
  prompt   = "p"
}
