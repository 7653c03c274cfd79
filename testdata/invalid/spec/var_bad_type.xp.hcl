variable "n" {
  type    = numbr # ERROR: Invalid type specification
  default = 1
}
