// Command render-policies turns the B2C custom policies in policies/ and
// one environment of policies/appsettings.json into upload-ready files:
//
//	go run ./cmd/render-policies -env Production -out build/policies \
//	    -starterpack path/to/starterpack/LocalAccounts
//
// With -starterpack it also writes the starter pack's TrustFrameworkBase.xml
// and TrustFrameworkLocalization.xml with the tenant filled in. -set
// Name=Value (repeatable) gives a setting that is not kept in
// appsettings.json, such as the secret PasskeyFunctionKey of an environment
// that calls the API with caller tokens. The files
// are numbered in upload order; docs/b2c.md says how to upload them.
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/passkeys-b2c/passkeys/policies"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "render-policies:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	flags := flag.NewFlagSet("render-policies", flag.ContinueOnError)
	envName := flags.String("env", "", "environment of appsettings.json to render (required)")
	settingsPath := flags.String("settings", "", "appsettings.json to use instead of policies/appsettings.json")
	in := flags.String("in", "", "folder of the policies instead of the built-in ones")
	out := flags.String("out", "build/policies", "output folder; files go to <out>/<env>/")
	starter := flags.String("starterpack", "", "starter pack LocalAccounts folder; its base and localization policies are rendered too")
	var sets []string
	flags.Func("set", "Name=Value: a setting for this rendering (repeatable), e.g. -set PasskeyFunctionKey=$KEY", func(v string) error {
		if name, _, ok := strings.Cut(v, "="); !ok || name == "" {
			return fmt.Errorf("want Name=Value")
		}
		sets = append(sets, v)
		return nil
	})
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *envName == "" {
		return fmt.Errorf("-env is required")
	}
	var src fs.FS = policies.Files
	if *in != "" {
		src = os.DirFS(*in)
	}
	settingsData, err := readSetting(src, *settingsPath)
	if err != nil {
		return err
	}
	settings, err := policies.ParseSettings(settingsData)
	if err != nil {
		return err
	}
	env, err := settings.Environment(*envName)
	if err != nil {
		return err
	}
	for _, v := range sets {
		name, value, _ := strings.Cut(v, "=")
		env.Set(name, value)
	}
	if err := env.CheckDeployable(); err != nil {
		return err
	}
	rendered, err := policies.RenderAll(src, env)
	if err != nil {
		return err
	}
	dir := filepath.Join(*out, env.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	n := 1
	write := func(name string, data []byte) error {
		p := filepath.Join(dir, fmt.Sprintf("%d-%s", n, name))
		n++
		fmt.Println(p)
		return os.WriteFile(p, data, 0o644)
	}
	if *starter != "" {
		for _, name := range []string{"TrustFrameworkBase.xml", "TrustFrameworkLocalization.xml"} {
			data, err := os.ReadFile(filepath.Join(*starter, name))
			if err != nil {
				return err
			}
			if err := write(name, env.RenderStarterPack(data)); err != nil {
				return err
			}
		}
	}
	for _, name := range policies.Order {
		if err := write(name, rendered[name]); err != nil {
			return err
		}
	}
	return nil
}

func readSetting(src fs.FS, override string) ([]byte, error) {
	if override != "" {
		return os.ReadFile(override)
	}
	return fs.ReadFile(src, "appsettings.json")
}
