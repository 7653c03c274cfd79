text "hook" {
  prompt = "ok"
  = "no name" # ERROR: Argument or block definition required
}
