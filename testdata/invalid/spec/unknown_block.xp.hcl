audio "a" { # ERROR: Unsupported block type
  prompt = "hi"
}
