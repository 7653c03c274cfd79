text "a" {
  prompt = file("no-such-file.txt") # ERROR: Error in function call
}
