package main

import (
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/tern/v2/migrate"
	_ "github.com/labstack/echo-jwt/v4"
	_ "github.com/labstack/echo/v4"
	_ "github.com/uber/h3-go/v4"
	_ "github.com/robfig/cron/v3"
)
