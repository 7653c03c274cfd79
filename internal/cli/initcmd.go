package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// starterSpec is what 'xpflow init' writes: a small, commented campaign
// that plans and applies on -simulate as it is.
const starterSpec = `# xpflow campaign. Every *.xp.hcl file in this directory is part of it.
# Try it without a key:  xpflow plan -simulate .   then   xpflow apply -simulate .
# Models, prices and parameters: xpflow models.   Commands: xpflow -h.

xpflow {
  output_dir     = "out" # where generated files are downloaded, relative to here
  max_cost_cents = 2000  # apply refuses a plan estimated above this
}

# Values to vary the campaign over. Override with -var, -var-file,
# xpflow.vars.hcl or XPFLOW_VAR_products.
variable "products" {
  type = map(string)
  default = {
    demo = "a matte black water bottle"
  }
}

locals {
  look = "studio light, clean background"
}

# A text step writes a hook for each product.
text "hook" {
  for_each   = var.products
  system     = "You write one-line ad hooks."
  prompt     = "Write a hook for ${each.value}."
  max_tokens = 40
}

# The hook becomes an image prompt...
image "hero" {
  for_each     = var.products
  model        = "bytedance/seedream-4.5"
  prompt       = "${text.hook[each.key].content} ${local.look}"
  aspect_ratio = "16:9"
}

# ...and the image the first frame of a video.
video "spot" {
  for_each  = var.products
  model     = "seedance-2.0/image-to-video"
  prompt    = "Slow push-in on ${each.value}"
  image_url = image.hero[each.key].url
  duration  = 4
}

output "videos" {
  value = { for k, v in video.spot : k => v.file }
}
`

// runInit scaffolds a starter spec, refusing to overwrite one.
func runInit(env *Env, args []string) error {
	fs := newFlags(env, "init", "[DIR]")
	if err := parse(fs, args); err != nil {
		return err
	}
	dir, err := oneArg(fs)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	path := filepath.Join(dir, "main.xp.hcl")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return &ExitErr{Code: ExitError, Err: fmt.Errorf("%s already exists; init never overwrites a spec", path)}
	}
	if err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	if _, err := f.WriteString(starterSpec); err != nil {
		f.Close()
		return &ExitErr{Code: ExitError, Err: err}
	}
	if err := f.Close(); err != nil {
		return &ExitErr{Code: ExitError, Err: err}
	}
	fmt.Fprintf(env.Stdout, "Wrote %s. Next: %s\n", path, hint(env, "plan", "-simulate", dir))
	return nil
}
