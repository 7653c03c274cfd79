variable "v" { default = 1 }
variable "v" { default = 2 } # ERROR: Duplicate variable
