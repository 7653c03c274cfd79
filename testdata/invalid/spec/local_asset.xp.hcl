text "a" { prompt = "p" }
locals {
  x = text.a.content # ERROR: Invalid reference in local value
}
