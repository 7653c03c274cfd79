variable "need" { # ERROR: No value for required variable
  type = string
}
