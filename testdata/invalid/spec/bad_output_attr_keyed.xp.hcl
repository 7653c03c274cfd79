variable "p" {
  default = { a = "A" }
}
text "hook" {
  for_each = var.p
  prompt   = each.value
}
image "hero" {
  for_each = var.p
  model    = "m"
  prompt   = text.hook[each.key].urls # ERROR: Unsupported attribute
}
