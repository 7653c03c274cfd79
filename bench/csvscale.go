package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CatalogForm is how a CSV catalog campaign turns rows into for_each keys.
type CatalogForm string

// The two forms the plan-at-scale benchmark measures.
const (
	// FormToset: keys = toset([for row in csvdecode(...) : row.sku]),
	// the form that went through go-cty's quadratic type unification.
	FormToset CatalogForm = "toset"
	// FormMap: keys = { for row in csvdecode(...) : row.sku => row }.
	FormMap CatalogForm = "map"
)

// CatalogHCL is a campaign over products.csv: for each row a text asset
// (a caption) and an image made from it, so rows products give 2*rows
// instances with one dependency each.
func CatalogHCL(form CatalogForm) string {
	keys, name := `{ for row in csvdecode(file("products.csv")) : row.sku => row }`, "each.value.name"
	if form == FormToset {
		keys, name = `toset([for row in csvdecode(file("products.csv")) : row.sku])`, `"Product ${each.key}"`
	}
	return fmt.Sprintf(`locals {
  products = %s
}

text "caption" {
  for_each   = local.products
  model      = "openai/gpt-4o"
  prompt     = "Write a one-line caption for ${%s}."
  max_tokens = 40
}

image "hero" {
  for_each = local.products
  model    = "bytedance/seedream-4.5"
  prompt   = "${text.caption[each.key].content} Studio light, white background."
}
`, keys, name)
}

// CatalogCSV is a products.csv of rows rows: sku, name, price.
func CatalogCSV(rows int) string {
	var b strings.Builder
	b.WriteString("sku,name,price\n")
	for i := range rows {
		fmt.Fprintf(&b, "sku-%06d,Product %d,%d.99\n", i, i, 10+i%90)
	}
	return b.String()
}

// WriteCatalogSpec writes CatalogHCL(form) and CatalogCSV(rows) into a new
// directory under base and returns it.
func WriteCatalogSpec(base string, rows int, form CatalogForm) (string, error) {
	dir, err := os.MkdirTemp(base, fmt.Sprintf("catalog-%s-%d-", form, rows))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "products.csv"), []byte(CatalogCSV(rows)), 0o644); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "campaign.xp.hcl"), []byte(CatalogHCL(form)), 0o644)
}

// CatalogRow is one measurement of planning a CSV catalog.
type CatalogRow struct {
	Form CatalogForm
	Rows int
	ScaleRow
}

// PlanCatalogs loads and plans a CSV catalog of each size in each form
// once, as PlanScale does.
func PlanCatalogs(ctx context.Context, base string, rows []int, forms []CatalogForm) ([]CatalogRow, error) {
	cat, err := fetchCatalog(ctx)
	if err != nil {
		return nil, err
	}
	var out []CatalogRow
	for _, form := range forms {
		for _, n := range rows {
			dir, err := WriteCatalogSpec(base, n, form)
			if err != nil {
				return out, err
			}
			row, err := measurePlan(dir, cat, 2*n)
			if err != nil {
				return out, fmt.Errorf("%s form, %d rows: %w", form, n, err)
			}
			out = append(out, CatalogRow{Form: form, Rows: n, ScaleRow: row})
		}
	}
	return out, nil
}
