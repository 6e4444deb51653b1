// eslint for the console (web/js): browser ES modules, eslint's recommended rules. `make lint` runs it.
// The vendored libraries (echarts, ethers, cytoscape) are served from node_modules under /app/vendor/ and are
// never in web/, so there is nothing of theirs to exclude here.
import js from "@eslint/js";
import globals from "globals";

export default [
  {
    files: ["web/js/**/*.js"],
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: "module",
      globals: globals.browser,
    },
  },
];
