variable "m" {
  type    = map(string)
  default = null
}
text "hook" {
  for_each = var.m # ERROR: Invalid for_each argument
  prompt   = "p"
}
