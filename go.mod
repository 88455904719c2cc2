module github.com/mmplugin/mmplugin

go 1.26.7
