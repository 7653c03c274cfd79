locals {
  a = local.b # ERROR: Cycle among local values
  b = local.c
  c = local.a
}
