text "hook" { prompt = "x" }
image "hero" {
  model  = "m"
  prompt = text.hok.content # ERROR: Reference to undeclared asset
}
