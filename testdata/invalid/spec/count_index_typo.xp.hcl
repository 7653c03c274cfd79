text "hook" {
  count  = 2
  prompt = "n${count.indx}" # ERROR: Invalid "count" attribute
}
