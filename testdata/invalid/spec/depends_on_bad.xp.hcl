text "a" { prompt = "p" }
text "b" {
  prompt     = "p"
  depends_on = [var.x] # ERROR: Invalid depends_on reference
}
