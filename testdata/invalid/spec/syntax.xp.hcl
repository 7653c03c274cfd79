text "a" {
  prompt = "ok"
  = "no name" # ERROR: Argument or block definition required
}
