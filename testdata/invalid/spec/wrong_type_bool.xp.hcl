video "v" {
  model          = "m"
  prompt         = "p"
  generate_audio = "loud" # ERROR: Incorrect attribute value type
}
