// Tool is a command.
package main
