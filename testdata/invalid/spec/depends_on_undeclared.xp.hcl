text "a" { prompt = "p" }
text "b" {
  prompt     = "p"
  depends_on = [text.aa] # ERROR: Reference to undeclared asset
}
