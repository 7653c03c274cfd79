variable "products" {
  default = { a = "A" }
}
text "a" {
  for_each = var.prodcts # ERROR: Reference to undeclared input variable
  prompt   = "hi"
}
