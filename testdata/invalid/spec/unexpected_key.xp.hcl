text "a" { prompt = "p" }
text "b" {
  prompt = text.a["x"].content # ERROR: Unexpected instance key
}
