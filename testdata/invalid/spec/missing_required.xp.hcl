image "hero" { # ERROR: Missing required argument
  prompt = "p"
}
