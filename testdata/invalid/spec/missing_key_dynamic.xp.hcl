variable "a" {
  default = { x = "X" }
}
variable "b" {
  default = { x = "X", y = "Y" }
}
image "hero" {
  for_each = var.a
  model    = "m"
  prompt   = each.value
}
video "spot" {
  for_each  = var.b
  model     = "m"
  prompt    = "p"
  image_url = image.hero[each.key].url # ERROR: No instance image.hero["y"]
}
