# count, depends_on, templatefile, file and a set for_each.
variable "angles" {
  type    = set(string)
  default = ["front", "side"]
}

variable "variants" {
  type    = number
  default = 2
}

locals {
  brief  = trimspace(file("brief.txt"))
  styles = [for s in ["noir", "pastel"] : upper(s)]
}

text "tagline" {
  count       = var.variants
  prompt      = templatefile("tagline.tmpl", { brief = local.brief, n = count.index })
  temperature = 0.9
}

image "still" {
  for_each   = var.angles
  model      = "bytedance/seedream-4.5"
  prompt     = "${each.value} shot, ${local.styles[0]}: ${text.tagline[0].content}"
  mode       = "t2i"
  image_urls = []
}

video "teaser" {
  model      = "seedance-2.0/text-to-video"
  prompt     = join(", ", [for k, v in image.still : v.prompt])
  depends_on = [text.tagline]
  lock_camera = false
}

output "taglines" { value = text.tagline[*].content }
output "teaser"   { value = video.teaser.url }
