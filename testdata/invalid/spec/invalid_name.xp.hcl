text "1bad" { # ERROR: Invalid name
  prompt = "p"
}
