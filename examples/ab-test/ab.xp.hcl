# A/B prompt test: the same product shot with two prompt variants, rendered by
# two image models, so the review page shows them side by side.

variable "variants" {
  type = map(string)
  default = {
    a = "Minimal product shot of the Vesper desk lamp on white, soft daylight"
    b = "Vesper desk lamp on a cluttered creative desk at night, warm pool of light"
  }
}

locals {
  models = {
    seedream = "bytedance/seedream-4.5"
    flux     = "flux/pro-async"
  }
  cells = {
    for pair in setproduct(keys(var.variants), keys(local.models)) :
    "${pair[0]}-${pair[1]}" => { variant = pair[0], model = local.models[pair[1]] }
  }
}

image "cell" {
  for_each     = local.cells
  model        = each.value.model
  prompt       = var.variants[each.value.variant]
  aspect_ratio = "4:3"
}

output "grid" {
  value = { for k, v in image.cell : k => v.file }
}
