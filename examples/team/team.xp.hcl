# Team campaign: the product launch, with its state in a Postgres campaign
# instead of a local file, so several people, machines and CI jobs can apply
# it at once without paying twice. The connection string comes from
# XPFLOW_BACKEND_CONN (it may hold a password: keep it out of the spec).

xpflow {
  output_dir = "out"
  backend "postgres" {
    campaign = "team-launch"
  }
}

variable "products" {
  type        = map(string)
  description = "Products to launch, by short key."
  default = {
    aurora = "Aurora noise-cancelling headphones"
    nimbus = "Nimbus travel pillow"
    vesper = "Vesper smart desk lamp"
    lumen  = "Lumen reading light"
    tempo  = "Tempo running watch"
    orbit  = "Orbit wireless charger"
  }
}

text "hook" {
  for_each   = var.products
  model      = "openai/gpt-4o"
  system     = "You write one-line ad hooks. No hashtags."
  prompt     = "Write a hook for ${each.value}."
  max_tokens = 40
}

image "hero" {
  for_each     = var.products
  model        = "bytedance/seedream-4.5"
  prompt       = "${text.hook[each.key].content} Product shot of ${each.value}, studio light."
  aspect_ratio = "16:9"
}

video "spot" {
  for_each  = var.products
  model     = "seedance-2.0/image-to-video"
  prompt    = "Slow push-in on ${each.value}, gentle light sweep."
  image_url = image.hero[each.key].url
  duration  = 4
}
