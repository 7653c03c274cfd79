text "hook" {
  prompt = each.value # ERROR: Invalid "each" reference
}
