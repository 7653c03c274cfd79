text "hook" {
  prompt = "Write a hook for ${var.product}." # ERROR: Reference to undeclared input variable
}
