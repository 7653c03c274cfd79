text "a" { prompt = "p" }
text "hook" {
  for_each = toset([text.a.content]) # ERROR: Invalid for_each or count argument
  prompt   = "p"
}
