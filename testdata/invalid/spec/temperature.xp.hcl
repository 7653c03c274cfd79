text "a" {
  prompt      = "p"
  temperature = 3 # ERROR: Invalid value for temperature
}
