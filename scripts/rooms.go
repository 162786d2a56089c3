//go:build ignore

// rooms prints how big each room of the house is: lines per package (code and tests apart),
// the types with the most methods, the interfaces with the most methods and the longest files,
// generated code left out. Run from the module root: go run scripts/rooms.go [dir...]
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

type count struct {
	name string
	n    int
}

func main() {
	top := flag.Int("top", 12, "rows of each ranking")
	flag.Parse()
	roots := flag.Args()
	if len(roots) == 0 {
		roots = []string{"."}
	}
	code, tests := map[string]int{}, map[string]int{}
	methods := map[string]int{} // "dir.Type"
	var ifaces, files []count
	fset := token.NewFileSet()
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if n := d.Name(); n == "testdata" || n == "bin" || (strings.HasPrefix(n, ".") && n != ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if generated(src) {
				return nil
			}
			lines := bytes.Count(src, []byte("\n"))
			dir := filepath.Dir(path)
			if strings.HasSuffix(path, "_test.go") {
				tests[dir] += lines
			} else {
				code[dir] += lines
			}
			files = append(files, count{path, lines})
			f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			for _, decl := range f.Decls {
				switch d := decl.(type) {
				case *ast.FuncDecl:
					if d.Recv != nil && len(d.Recv.List) == 1 && !strings.HasSuffix(path, "_test.go") {
						methods[dir+"."+recvName(d.Recv.List[0].Type)]++
					}
				case *ast.GenDecl:
					for _, sp := range d.Specs {
						ts, ok := sp.(*ast.TypeSpec)
						if !ok {
							continue
						}
						if it, ok := ts.Type.(*ast.InterfaceType); ok {
							ifaces = append(ifaces, count{dir + "." + ts.Name.Name, len(it.Methods.List)})
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	var pkgs []count
	for dir := range merge(code, tests) {
		pkgs = append(pkgs, count{dir, code[dir]})
	}
	byN := func(a, b count) int { return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.name, b.name)) }
	slices.SortFunc(pkgs, func(a, b count) int { return strings.Compare(a.name, b.name) })
	fmt.Println("| package | lines (code) | lines (tests) |\n|---|---:|---:|")
	for _, p := range pkgs {
		fmt.Printf("| %s | %d | %d |\n", p.name, code[p.name], tests[p.name])
	}
	var ms []count
	for k, v := range methods {
		ms = append(ms, count{k, v})
	}
	for _, r := range []struct {
		title string
		rows  []count
	}{{"methods per type", ms}, {"methods per interface (embedded interfaces count one)", ifaces}, {"longest files (lines)", files}} {
		slices.SortFunc(r.rows, byN)
		fmt.Printf("\n| %s | |\n|---|---:|\n", r.title)
		for _, c := range r.rows[:min(*top, len(r.rows))] {
			fmt.Printf("| %s | %d |\n", c.name, c.n)
		}
	}
}

func merge(a, b map[string]int) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func recvName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return recvName(t.X)
	case *ast.IndexExpr:
		return recvName(t.X)
	case *ast.IndexListExpr:
		return recvName(t.X)
	case *ast.Ident:
		return t.Name
	}
	return "?"
}

// generated reports the "Code generated ... DO NOT EDIT." line of go generate's convention.
func generated(src []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "package ") {
			return false
		}
		if strings.HasPrefix(l, "// Code generated ") && strings.HasSuffix(l, " DO NOT EDIT.") {
			return true
		}
	}
	return false
}
