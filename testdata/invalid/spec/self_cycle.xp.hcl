text "c" {
  prompt = text.c.content # ERROR: Dependency cycle: text.c -> text.c
}
