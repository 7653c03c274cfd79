output "o" {
  value = each.key # ERROR: Invalid "each" reference
}
