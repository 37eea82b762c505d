# The kong binary as an image: the container backend and docker-compose.yml
# run the member services, gateways, director, link routers and the setup
# step from it (`kong serve ...`). Build: docker build -t kongchaos/kong:dev .
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/kong ./cmd/kong

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/kong /usr/local/bin/kong
ENTRYPOINT ["/usr/local/bin/kong"]
CMD ["--help"]
