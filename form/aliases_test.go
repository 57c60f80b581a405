package form

import (
	"reflect"

	"github.com/go-playground/validator/v10"
)

type (
	reflectKind         = reflect.Kind
	validatorFieldLevel = validator.FieldLevel
)
