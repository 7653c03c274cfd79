# One hero shot, cut for every social placement: an image and a short video
# per aspect ratio.

variable "product" {
  type    = string
  default = "Aurora noise-cancelling headphones"
}

variable "placements" {
  type        = map(string)
  description = "Placement name to aspect ratio."
  default = {
    feed    = "1:1"
    stories = "9:16"
    youtube = "16:9"
  }
}

image "cut" {
  for_each     = var.placements
  model        = "bytedance/seedream-4.5"
  prompt       = "${var.product} on a marble plinth, framed for ${each.key} (${each.value})"
  aspect_ratio = each.value
}

video "cut" {
  for_each     = var.placements
  model        = "seedance-2.0/image-to-video"
  prompt       = "Orbit slowly around ${var.product}"
  image_url    = image.cut[each.key].url
  aspect_ratio = each.value
  duration     = 4
  lock_camera  = false
}

output "videos" {
  value = { for k, v in video.cut : k => v.file }
}
