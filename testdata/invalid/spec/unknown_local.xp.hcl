locals { look = "x" }
text "a" {
  prompt = local.lok # ERROR: Reference to undeclared local value
}
