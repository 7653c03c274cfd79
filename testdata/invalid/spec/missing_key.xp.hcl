variable "products" {
  default = { aurora = "A" }
}
image "hero" {
  for_each = var.products
  model    = "m"
  prompt   = each.value
}
video "spot" {
  model     = "m"
  prompt    = "p"
  image_url = image.hero["nope"].url # ERROR: No instance image.hero["nope"]
}
