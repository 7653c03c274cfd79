# Storyboard to video: a text step writes each shot, an image per shot fixes
# the look, and a video per image brings it to life.

variable "shots" {
  type = list(string)
  default = [
    "sunrise over a quiet harbour",
    "a fisherman coils rope on the deck",
    "the boat leaves the harbour mouth",
  ]
}

locals {
  style = "cinematic, muted teal and orange, anamorphic"
}

text "shot" {
  count      = length(var.shots)
  system     = "You are a storyboard artist. Describe one shot in one sentence for an image model."
  prompt     = "Shot ${count.index + 1} of ${length(var.shots)}: ${var.shots[count.index]}"
  max_tokens = 60
}

image "frame" {
  count        = length(var.shots)
  model        = "flux/pro-async"
  prompt       = "${text.shot[count.index].content} ${local.style}"
  aspect_ratio = "21:9"
}

video "shot" {
  count     = length(var.shots)
  model     = "seedance-2.0/image-to-video"
  prompt    = var.shots[count.index]
  image_url = image.frame[count.index].url
  duration  = 4
}

output "frames" {
  value = [for v in video.shot : v.file]
}
